// What a training run's output folder may hold when the run starts. Pruning (train.checkpoint.keep_last)
// and `--resume DIR` both go by the step numbers of the folder's checkpoint_step_*.pth files, so another
// run's files there would make the pruner delete this run's newest checkpoint (a lower step) and a resume
// pick the other run's. And a checkpoint write killed mid-way (SIGKILL, a node lost) leaves its temporary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace medsam::train {

// The folder of the run `--resume PATH` continues: PATH itself when it is a folder, else the checkpoint
// file's folder.
std::string run_folder_of(const std::string& resume_path);

// A fresh run (no --resume) refuses a folder that already holds step checkpoints: throws Error naming the
// folder, its newest checkpoint and the ways out (--resume it, another --output, or removing them).
// So does a resume (`resuming_from` = its path) whose output folder is not the resumed run's own: the
// rollback set-aside and keep_last pruning would take the other run's checkpoints for this one's.
void check_no_earlier_run(const std::string& dir, const std::string& resuming_from = "");

// Whether two paths name the same existing folder (device and inode; "runs/a" and "./runs/a/").
bool same_folder(const std::string& a, const std::string& b);

// After resuming at `step` with output into `dir`: the folder's step checkpoints above `step` belong to the
// run this one replaces (a rollback to an earlier checkpoint). They are moved, not deleted, into
// dir/superseded/ (each logged), so that pruning and `--resume DIR` see this run's checkpoints only.
// Returns the new paths.
std::vector<std::string> set_aside_later_checkpoints(const std::string& dir, int64_t step);

// Removes the temporaries of atomic writes (NAME.tmp.<pid>, medsam/io/atomic_file.h) in `dir` whose
// writing process no longer exists here (or is this process: it calls this before it writes) and that are
// older than a minute, logging each (a ViT-B training
// checkpoint's temporary is ~1.1 GB: repeated preemptions would fill the disk). Returns what it removed.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

}  // namespace medsam::train
