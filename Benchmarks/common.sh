# Helpers shared by the load benchmarks (sourced, not run).
# free_port: an unused loopback TCP port. wait_port P: until 127.0.0.1:P accepts.
# median: of the numbers on stdin. family PID: the process and its children (nginx's
# workers). cpu_ticks PID: utime+stime of the family, in TICKS per second. rss_kb PID:
# VmRSS of the family. PIN_SERVER / PIN_LOAD: taskset prefixes that
# put the server on CPU 0 and the load generator on CPU 1 (empty with < 2 cores).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
family() { echo "$1" $(pgrep -P "$1" || true); }
cpu_ticks() { local t=0; for p in $(family "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
rss_kb() { local t=0; for p in $(family "$1"); do t=$((t + $(awk '/VmRSS/{print $2}' "/proc/$p/status"))); done; echo "$t"; }
TICKS=$(getconf CLK_TCK)
PIN_SERVER=(); PIN_LOAD=()
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then PIN_SERVER=(taskset -c 0); PIN_LOAD=(taskset -c 1); fi
