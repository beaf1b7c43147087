// ref: torch/distributed/elastic/agent/server/local_elastic_agent.py (worker environment) and
// torch/distributed/elastic/multiprocessing/api.py (start, monitor, forward signals, stop the rest on a
// failure), for one node and without restarts.
#include "medsam/dist/launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>

#include "medsam/core/error.h"

extern char** environ;

namespace medsam::dist {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
volatile std::sig_atomic_t g_pending[65] = {};

void on_signal(int sig) {
  if (sig > 0 && sig < 65) g_pending[sig] = 1;
}

// Our handlers while ranks run; the previous ones come back on scope exit.
class SignalForwarding {
 public:
  SignalForwarding() {
    for (int sig : kForwarded) {
      g_pending[sig] = 0;
      // A signal ignored when we started (nohup's SIGHUP) stays ignored, here and in the ranks.
      if (sigaction(sig, nullptr, &old_[sig]) == 0 && old_[sig].sa_handler == SIG_IGN) continue;
      struct sigaction action {};
      action.sa_handler = on_signal;
      sigemptyset(&action.sa_mask);
      action.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR at once
      sigaction(sig, &action, &old_[sig]);
    }
  }
  ~SignalForwarding() {
    for (int sig : kForwarded) sigaction(sig, &old_[sig], nullptr);
  }
  // A signal that arrived since the last call, or 0.
  int take() {
    for (int sig : kForwarded)
      if (g_pending[sig]) {
        g_pending[sig] = 0;
        return sig;
      }
    return 0;
  }

 private:
  struct sigaction old_[65] {};
};

std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) throw UsageError(fmt::format("'{}' is not an executable file", name));
    return name;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = (end > pos ? dirs.substr(pos, end - pos) : std::string(".")) + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    pos = end + 1;
  }
  throw UsageError(fmt::format("'{}' was not found in PATH", name));
}

struct Rank {
  int rank = 0;
  int local = 0;
  pid_t pid = -1;
  int fds[2] = {-1, -1};        // read ends of the child's stdout, stderr
  std::string partial[2];       // output after the last newline
  std::FILE* log = nullptr;
  bool reaped = false;
  Clock::time_point start, end;
  RankOutcome outcome;
};

class Output {
 public:
  Output(bool echo) : echo_(echo) {}
  // Writes complete lines of `data` (stream 0: stdout, 1: stderr), keeping the rest in `partial`.
  void feed(Rank& r, int stream, const char* data, size_t n) {
    if (r.log) {
      std::fwrite(data, 1, n, r.log);
      std::fflush(r.log);
    }
    if (!echo_) return;
    std::string& buf = r.partial[stream];
    buf.append(data, n);
    size_t start = 0, nl;
    while ((nl = buf.find('\n', start)) != std::string::npos) {
      emit(r.rank, stream, buf.substr(start, nl - start));
      start = nl + 1;
    }
    buf.erase(0, start);
  }
  void flush(Rank& r, int stream) {
    if (echo_ && !r.partial[stream].empty()) emit(r.rank, stream, r.partial[stream]);
    r.partial[stream].clear();
  }

 private:
  static void emit(int rank, int stream, const std::string& line) {
    std::FILE* to = stream == 0 ? stdout : stderr;
    fmt::print(to, "[rank {}] {}\n", rank, line);
    std::fflush(to);
  }
  bool echo_;
};

// One launch's name for its ranks (MEDSAM_RUN_ID): a rank that reaches another job's store through a
// shared port then says so instead of joining it (store.cpp check_same_job).
std::string make_run_id() {
  std::random_device random;
  return fmt::format("launch-{:x}-{:08x}", static_cast<long>(::getpid()), random());
}

std::vector<std::string> rank_environment(const LaunchSpec& spec, int rank, int local, int world, int port,
                                          const std::string& run_id) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    vars[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  // Nested under torchrun or another launcher: our ranks rendezvous on their own.
  for (const char* name : {"TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_RUN_ID"})
    vars.erase(name);
  vars["RANK"] = std::to_string(rank);
  vars["WORLD_SIZE"] = std::to_string(world);
  vars["LOCAL_RANK"] = std::to_string(local);
  vars["LOCAL_WORLD_SIZE"] = std::to_string(spec.nproc_per_node);
  vars["GROUP_RANK"] = std::to_string(spec.node_rank);
  vars["ROLE_RANK"] = std::to_string(rank);
  vars["ROLE_WORLD_SIZE"] = std::to_string(world);
  vars["MASTER_ADDR"] = spec.master_addr;
  vars["MASTER_PORT"] = std::to_string(port);
  // Several nodes: each node's launcher would pick another id, so the job's own (Slurm's, or an exported
  // MEDSAM_RUN_ID) names it.
  if (!run_id.empty()) vars["MEDSAM_RUN_ID"] = run_id;
  if (spec.omp_threads > 0 && !vars.count("OMP_NUM_THREADS")) vars["OMP_NUM_THREADS"] = std::to_string(spec.omp_threads);
  for (const auto& [k, v] : spec.env) vars[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void start(Rank& r, const std::string& program, std::vector<std::string> args, std::vector<std::string> env) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw Error(fmt::format("launch: pipe failed: {}", std::strerror(errno)));
  // Everything the child needs is prepared before fork (no allocation between fork and exec).
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  const pid_t parent = ::getpid();
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid < 0) throw Error(fmt::format("launch: fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    ::setpgid(0, 0);  // own process group: a terminal's Ctrl-C reaches us once, we forward it once
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher died (even by SIGKILL): stop too
    if (::getppid() != parent) ::_exit(128 + SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(program.c_str(), argv.data(), envp.data());
    const char msg[] = "medsam launch: exec failed\n";
    (void)!::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from here, so that kill(-pid) works whichever side runs first
  if (devnull >= 0) ::close(devnull);
  ::close(out[1]);
  ::close(err[1]);
  r.fds[0] = out[0];
  r.fds[1] = err[0];
  for (int fd : r.fds) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  r.pid = pid;
  r.start = Clock::now();
}

std::string describe_exit(const RankOutcome& o) {
  if (o.signal != 0) return fmt::format("was killed by signal {} ({})", o.signal, ::strsignal(o.signal));
  return fmt::format("exited with code {}", o.exit_code);
}

}  // namespace

bool RankOutcome::stopped() const { return signal == 0 && exit_code == kExitStopped; }

int find_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw Error(fmt::format("could not find a free TCP port: {}", std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

LaunchOutcome launch_local(const LaunchSpec& spec) {
  if (spec.command.empty()) throw UsageError("launch: no command to run (put it after --)");
  if (spec.nproc_per_node < 1) throw UsageError("launch: --nproc-per-node must be at least 1");
  if (spec.nnodes < 1) throw UsageError("launch: --nnodes must be at least 1");
  if (spec.node_rank < 0 || spec.node_rank >= spec.nnodes)
    throw UsageError(fmt::format("launch: --node-rank {} is outside [0, {})", spec.node_rank, spec.nnodes));
  if (spec.nnodes > 1 && spec.master_port == 0)
    throw UsageError("launch: --master-port is required with --nnodes > 1 (every node must use the same port)");
  const std::string& addr = spec.master_addr;
  if (spec.nnodes > 1 && (addr.rfind("127.", 0) == 0 || addr == "localhost" || addr == "::1"))
    throw UsageError(fmt::format("launch: --master-addr {} with --nnodes {}: every node would look for rank 0's "
                                 "store on itself; give rank 0's host name (or export MASTER_ADDR)",
                                 addr, spec.nnodes));
  if (spec.master_port < 0 || spec.master_port > 65535)
    throw UsageError(fmt::format("launch: --master-port {} is outside 1..65535", spec.master_port));
  const int port = spec.master_port != 0 ? spec.master_port : find_free_port();
  const std::string run_id = spec.nnodes == 1 ? make_run_id() : std::string();
  const int world = spec.nproc_per_node * spec.nnodes;
  const std::string program = resolve_program(spec.command.front());
  if (!spec.log_dir.empty()) std::filesystem::create_directories(spec.log_dir);

  SignalForwarding signals;
  Output output(spec.echo);
  std::vector<Rank> ranks(spec.nproc_per_node);
  for (int local = 0; local < spec.nproc_per_node; ++local) {
    Rank& r = ranks[local];
    r.local = local;
    r.rank = spec.node_rank * spec.nproc_per_node + local;
    r.outcome.rank = r.rank;
    if (!spec.log_dir.empty()) {
      const auto path = std::filesystem::path(spec.log_dir) / fmt::format("rank_{}.log", r.rank);
      // Appended, each attempt under a header: a rerun (or a Slurm requeue) must not erase the log of the
      // attempt that failed.
      r.log = std::fopen(path.c_str(), "a");
      if (!r.log) throw Error(fmt::format("launch: cannot write {}: {}", path.string(), std::strerror(errno)));
      const std::time_t now = std::time(nullptr);
      std::tm local_now{};
      char when[32] = "";
      if (::localtime_r(&now, &local_now)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &local_now);
      std::fprintf(r.log, "===== medsam launch, rank %d of %d, %s =====\n", r.rank, world, when);
    }
    start(r, program, spec.command, rank_environment(spec, r.rank, local, world, port, run_id));
    r.outcome.pid = r.pid;
  }

  LaunchOutcome result;
  bool stopping = false;
  Clock::time_point kill_at{};
  Clock::time_point all_reaped_at{};
  auto signal_all = [&](int sig) {
    for (auto& r : ranks)
      if (!r.reaped) ::kill(-r.pid, sig);
  };
  auto stop_all = [&]() {
    if (stopping) return;
    stopping = true;
    signal_all(SIGTERM);
    kill_at = Clock::now() + spec.grace;
  };

  char buffer[65536];
  while (true) {
    // 1. output
    std::vector<pollfd> fds;
    std::vector<std::pair<Rank*, int>> owners;
    for (auto& r : ranks)
      for (int s = 0; s < 2; ++s)
        if (r.fds[s] >= 0) {
          fds.push_back({r.fds[s], POLLIN, 0});
          owners.push_back({&r, s});
        }
    const bool all_reaped = std::all_of(ranks.begin(), ranks.end(), [](const Rank& r) { return r.reaped; });
    // A rank's own children may keep its pipes open after it exited: stop reading 2 s after the last exit.
    if (all_reaped && (fds.empty() || Clock::now() - all_reaped_at > std::chrono::seconds(2))) break;
    if (!fds.empty()) {
      const int n = ::poll(fds.data(), fds.size(), 50);
      if (n > 0) {
        for (size_t k = 0; k < fds.size(); ++k) {
          if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
          auto [r, s] = owners[k];
          const ssize_t got = ::read(r->fds[s], buffer, sizeof(buffer));
          if (got > 0) {
            output.feed(*r, s, buffer, static_cast<size_t>(got));
          } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            output.flush(*r, s);
            ::close(r->fds[s]);
            r->fds[s] = -1;
          }
        }
      }
    } else {
      ::usleep(50 * 1000);
    }
    // 2. signals sent to us
    if (int sig = signals.take()) {
      signal_all(sig);
      if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
        if (result.received_signal == 0) {
          fmt::print(stderr, "medsam launch: got signal {} ({}); forwarded it to {} rank(s), waiting up to {:g} s\n",
                     sig, ::strsignal(sig), ranks.size(), std::chrono::duration<double>(spec.grace).count());
          result.received_signal = sig;
        }
        if (!stopping) {
          stopping = true;
          kill_at = Clock::now() + spec.grace;
        }
      }
    }
    // 3. exits
    for (auto& r : ranks) {
      if (r.reaped) continue;
      int status = 0;
      const pid_t done = ::waitpid(r.pid, &status, WNOHANG);
      if (done != r.pid) continue;
      r.reaped = true;
      r.end = Clock::now();
      r.outcome.seconds = std::chrono::duration<double>(r.end - r.start).count();
      if (WIFSIGNALED(status)) r.outcome.signal = WTERMSIG(status);
      if (WIFEXITED(status)) r.outcome.exit_code = WEXITSTATUS(status);
      if (std::all_of(ranks.begin(), ranks.end(), [](const Rank& x) { return x.reaped; })) all_reaped_at = r.end;
      if (!r.outcome.failed() || result.first_failed_rank >= 0 || result.received_signal != 0) continue;
      result.first_failed_rank = r.rank;
      const int others = static_cast<int>(std::count_if(ranks.begin(), ranks.end(), [](const Rank& x) { return !x.reaped; }));
      fmt::print(stderr, "medsam launch: rank {} (pid {}) {} after {:.1f} s{}\n", r.rank, r.pid,
                 describe_exit(r.outcome), r.outcome.seconds,
                 spec.stop_all_on_failure && others > 0 ? fmt::format("; stopping the other {} rank(s)", others) : "");
      if (spec.stop_all_on_failure) stop_all();
    }
    if (stopping && Clock::now() >= kill_at) {
      bool any = false;
      for (auto& r : ranks)
        if (!r.reaped) any = true;
      if (any) {
        fmt::print(stderr, "medsam launch: ranks still running {:g} s after SIGTERM; sending SIGKILL\n",
                   std::chrono::duration<double>(spec.grace).count());
        signal_all(SIGKILL);
      }
      kill_at = Clock::time_point::max();
    }
  }
  for (auto& r : ranks) {
    for (int s = 0; s < 2; ++s) {
      output.flush(r, s);
      if (r.fds[s] >= 0) ::close(r.fds[s]);
    }
    if (r.log) std::fclose(r.log);
    result.ranks.push_back(r.outcome);
  }
  const auto stopped = [](const RankOutcome& o) { return o.stopped(); };
  const auto failed = [](const RankOutcome& o) { return o.failed(); };
  if (std::any_of(result.ranks.begin(), result.ranks.end(), stopped) &&
      std::none_of(result.ranks.begin(), result.ranks.end(), failed)) {
    result.exit_code = kExitStopped;  // the ranks' own answer: checkpoint written, resume to continue
  } else if (result.received_signal != 0) {
    result.exit_code = 128 + result.received_signal;
  } else if (result.first_failed_rank >= 0) {
    const auto& o = result.ranks[result.first_failed_rank - spec.node_rank * spec.nproc_per_node];
    result.exit_code = o.signal != 0 ? 128 + o.signal : o.exit_code;
  }
  return result;
}

}  // namespace medsam::dist
