// Graceful stop on SIGTERM / SIGINT / SIGUSR1 (Slurm sends SIGTERM or SIGUSR1 before killing a job):
// the handler only records the signal; the trainer finishes its step, writes a checkpoint and returns.
#pragma once

namespace medsam::train {

// Installs the handlers (idempotent). A second SIGINT while a stop is pending restores the default
// action, so Ctrl-C twice still kills a stuck process.
void install_stop_handlers();
// The signal number that asked for a stop, 0 when none.
int stop_requested();
// For tests and for starting a new run in the same process.
void request_stop(int signal_number);
void clear_stop_request();
// "SIGTERM", "SIGINT", ...
const char* signal_name(int signal_number);

}  // namespace medsam::train
