// Graceful stop on SIGTERM / SIGINT / SIGUSR1 / SIGUSR2 / SIGHUP (Slurm sends one of the first four before
// killing a job, as --signal chooses; SIGHUP when a terminal goes): the handler only records the signal;
// the trainer finishes its step, writes a checkpoint and returns. A SIGHUP ignored at start (nohup) stays
// ignored.
#pragma once

namespace medsam::train {

// Installs the handlers (idempotent). A second SIGINT while a stop is pending kills the process at once
// (the default action, raised again), so Ctrl-C twice still ends a stuck one.
void install_stop_handlers();
// The signal number that asked for a stop, 0 when none.
int stop_requested();
// For tests and for starting a new run in the same process.
void request_stop(int signal_number);
void clear_stop_request();
// "SIGTERM", "SIGINT", ...
const char* signal_name(int signal_number);

}  // namespace medsam::train
