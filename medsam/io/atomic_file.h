// Writing a file so that readers never see half of it: write a temporary beside it, fsync, rename onto
// PATH. A crash leaves either the old file or the new one, never a mix (checkpoints, shards, manifests).
#pragma once

#include <functional>
#include <string>

namespace medsam {

// PATH.tmp.<pid>: where a writer puts what becomes PATH.
std::string temporary_path_for(const std::string& path);
// The <pid> of a file name temporary_path_for made; -1 for any other name.
long temporary_writer_pid(const std::string& name);

// Calls write(tmp_path) (tmp_path = temporary_path_for(PATH)), fsyncs it and renames it onto path; on any
// exception the temporary is removed and the exception propagates (path is left as it was).
void write_atomically(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// PATH with ".tmp.<pid>" before its extension (mask.tmp.123.png, ct.tmp.123.nii.gz; a compression suffix
// .gz/.bz2/.zst keeps the extension before it): for writers that choose the format by the file name.
std::string temporary_path_keeping_extension(const std::string& path);

// write_atomically with that temporary name (OpenCV's imwrite, ITK's image writers).
void write_atomically_keeping_extension(const std::string& path,
                                        const std::function<void(const std::string& tmp_path)>& write);

// For formats whose header names a data file beside it (MetaImage .mhd + .raw, NRRD .nhdr + .raw,
// Analyze .hdr + .img): write(tmp_path) writes PATH's file name into a private folder beside PATH
// (.<name>.tmp.<pid>/, so every file the writer adds keeps the name the header refers to); then each
// file is fsynced and renamed beside PATH, the data files first and the header last, and the folder is
// removed. A crash before the renames leaves the old set; between them, at most new data beside the old
// header. On an exception the folder is removed and PATH is left as it was.
void write_atomically_as_file_set(const std::string& path, const std::function<void(const std::string& tmp_path)>& write);

// write_atomically for in-memory content.
void write_file_atomically(const std::string& path, const std::string& content);

// For commands with several outputs, before any is written: throws Error naming `flag` and `path` when the
// folder `path` goes in (its parent; "." for a bare name) does not exist or is not a folder, so that one
// impossible output leaves nothing half done. An empty path is not checked.
void check_output_folder(const std::string& path, const std::string& flag);

// fsync + rename (+ fsync of the folder) of a temporary its writer already filled and closed (e.g. a shard tar streamed to
// PATH.tmp). Throws Error naming both paths.
void commit_file(const std::string& tmp_path, const std::string& path);

}  // namespace medsam
