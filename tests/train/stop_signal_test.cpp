// The stop handlers of medsam train and serve: the first SIGINT/SIGTERM asks for a graceful stop, a second
// SIGINT kills at once. Run in a forked child (the second signal ends the process it hits).
#include <catch2/catch.hpp>

#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

#include "medsam/train/stop_signal.h"

using namespace medsam::train;

namespace {

// The child's fate after it installs the handlers and raises `signals` (each delivered before raise returns):
// its exit code 10 + stop_requested() if it lives, or -(the signal) that ended it. Only async-signal-safe
// calls in the child.
int child_fate(std::initializer_list<int> signals, bool hup_ignored_at_start = false) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (hup_ignored_at_start) std::signal(SIGHUP, SIG_IGN);  // as nohup leaves it
    install_stop_handlers();
    for (int sig : signals) std::raise(sig);
    ::_exit(10 + stop_requested());
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("one SIGINT or SIGTERM asks for a stop and a second SIGINT kills", "[train][signal]") {
  CHECK(child_fate({SIGINT}) == 10 + SIGINT);
  CHECK(child_fate({SIGTERM}) == 10 + SIGTERM);
  CHECK(child_fate({SIGINT, SIGINT}) == -SIGINT);
  CHECK(child_fate({SIGTERM, SIGINT}) == -SIGINT);
  CHECK(child_fate({SIGTERM, SIGTERM}) == 10 + SIGTERM);  // a scheduler's repeated TERM stays graceful
  // Slurm's --signal may be USR1 or USR2; a lost terminal sends HUP: all graceful.
  CHECK(child_fate({SIGUSR1}) == 10 + SIGUSR1);
  CHECK(child_fate({SIGUSR2}) == 10 + SIGUSR2);
  CHECK(child_fate({SIGHUP}) == 10 + SIGHUP);
  // Under nohup a HUP is ignored: no stop asked (exit 10 + 0).
  CHECK(child_fate({SIGHUP}, /*hup_ignored_at_start=*/true) == 10);
}
