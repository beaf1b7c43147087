#include "medsam/train/stop_signal.h"

#include <atomic>
#include <csignal>

namespace medsam::train {

namespace {

std::atomic<int> g_stop{0};

// A second Ctrl-C kills at once (a rank stuck in a collective would otherwise need a third): the default
// action restored and the signal raised again. Both calls are async-signal-safe.
extern "C" void on_stop_signal(int sig) {
  if (g_stop.load() != 0 && sig == SIGINT) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  g_stop.store(sig);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP}) {
    struct sigaction before {};
    // nohup asked for SIGHUP to be ignored: a lost terminal must not stop the run.
    if (sig == SIGHUP && sigaction(sig, nullptr, &before) == 0 && before.sa_handler == SIG_IGN) continue;
    sigaction(sig, &sa, nullptr);
  }
}

int stop_requested() { return g_stop.load(); }
void request_stop(int signal_number) { g_stop.store(signal_number); }
void clear_stop_request() { g_stop.store(0); }

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

}  // namespace medsam::train
