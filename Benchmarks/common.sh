# Helpers shared by the load benchmarks (sourced, not run).
# free_port: an unused loopback TCP port. wait_port P: until 127.0.0.1:P accepts.
# median: of the numbers on stdin. PIN_SERVER / PIN_LOAD: taskset prefixes that
# put the server on CPU 0 and the load generator on CPU 1 (empty with < 2 cores).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
PIN_SERVER=(); PIN_LOAD=()
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then PIN_SERVER=(taskset -c 0); PIN_LOAD=(taskset -c 1); fi
