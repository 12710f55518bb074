#!/usr/bin/env bash
# The expert-audit lab: a Debian server's daemons in a network namespace of
# their own, with the packages' default configuration or a hardened one.
#
#   lab.sh up default|hardened NS   start the lab (prints the sockets when up)
#   lab.sh down NS                  stop exactly what `up` started, remove NS
#   lab.sh sockets NS               ss -tulpn inside NS
#   lab.sh missing                  the packages the lab needs and lacks
#
# Network: NS holds eth0 = 192.0.2.2/24 (broadcast 192.0.2.255) and
# 2001:db8::2/64 (documentation prefixes), and lo. The veth's other end lives
# in a second namespace, NS-peer (192.0.2.1, 2001:db8::1), so the host's own
# interfaces and routes are never touched.
#
# Daemons: each one starts inside NS (`ip netns exec NS`) with the command
# line of its package's systemd unit (read from /lib/systemd/system/*.service
# and /etc/default/*), as the user that unit uses. systemd is not pid 1 here,
# so the lab starts them itself and finds them again through `ip netns pids`.
#
# Isolation from the host: `ip netns exec` gives every daemon a mount
# namespace of its own, in which the lab mounts an overlay over /var (writes
# go to /run/netns-lab/NS/var/DAEMON) and its own /run and /tmp. Nothing the
# daemons write reaches the host's files. Configuration comes from /etc; for the few files the lab changes,
# copies live in /etc/netns/NS/<entry>, which `ip netns exec` bind-mounts over
# /etc/<entry> for the daemons and for an audit run with `ip netns exec NS`.
set -Eeuo pipefail

# Daemons must not inherit the caller's descriptors: a test runner that
# learns of this script's exit from a pipe or socket would wait on them.
for fd in /proc/$$/fd/*; do
    fd=${fd##*/}
    case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
done

PACKAGES=(openssh-server postfix dnsmasq rpcbind chrony snmpd samba mariadb-server redis-server memcached)

die() {
    echo "lab.sh: $*" >&2
    exit 2
}

usage() {
    die "usage: lab.sh up default|hardened NSNAME | down NSNAME | sockets NSNAME | missing"
}

missing() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
    done
}

check_name() {
    [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,9}$ ]] || die "namespace name '$1' must be 1-10 letters, digits, '.', '_' or '-'"
}

# Waits up to $1 seconds for "$2..." to succeed.
wait_for() {
    local limit=$1
    shift
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# --- the network --------------------------------------------------------------

make_network() {
    local ns=$1 peer=$1-peer
    ip netns add "$ns"
    ip netns add "$peer"
    ip link add name eth0 netns "$ns" type veth peer name eth0 netns "$peer"
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add 192.0.2.2/24 broadcast 192.0.2.255 dev eth0
    ip -n "$ns" addr add 2001:db8::2/64 dev eth0 nodad
    ip -n "$peer" addr add 192.0.2.1/24 broadcast 192.0.2.255 dev eth0
    ip -n "$peer" addr add 2001:db8::1/64 dev eth0 nodad
    ip -n "$ns" link set eth0 up
    ip -n "$peer" link set eth0 up
    # The link-local address must finish duplicate address detection before
    # daemons that bind every address (nmbd, ...) enumerate the interfaces.
    wait_for 10 sh -c "ip -n '$ns' -6 addr show dev eth0 scope link | grep -q inet6 && ! ip -n '$ns' -6 addr show dev eth0 tentative | grep -q inet6" ||
        die "eth0 in $ns has no usable IPv6 link-local address after 10 s"
}

# --- private file systems -----------------------------------------------------

# Every daemon sees the host's /var through an overlay whose upper layer is
# its own directory in the lab: it reads the package's files (the MariaDB
# system tables, postfix's queue skeleton, samba's tdbs) and everything it
# writes (pid files, sockets such as snmpd's /var/agentx/master, logs,
# databases) lands in the lab. /run and /tmp are the lab's own directories,
# shared by the lab's daemons as on a real host.
prepare_fs() {
    local root=$1
    mkdir -p "$root/run" "$root/var"
    install -d -m 1777 "$root/tmp"
    # The runtime directories the units' RuntimeDirectory= / ExecStartPre=
    # would create, with the units' owners and modes.
    install -d -m 0755 "$root/run/sshd"
    install -d -m 0755 -o mysql -g root "$root/run/mysqld"
    install -d -m 2755 -o redis -g redis "$root/run/redis"
    install -d -m 0755 -o memcache -g memcache "$root/run/memcached"
    install -d -m 0700 -o _chrony -g _chrony "$root/run/chrony"
    install -d -m 0755 "$root/run/samba" "$root/run/agentx" "$root/run/lock"
    install -d -m 0755 -o dnsmasq -g nogroup "$root/run/dnsmasq"
}

# The shell prefix run inside `ip netns exec`: mount the lab's private /var,
# /tmp and /run over the host's, then exec the daemon.
mounts_script() {
    local root=$1 name=$2
    mkdir -p "$root/var/$name/upper" "$root/var/$name/work"
    printf 'set -e; mount -t overlay lab-%q -o lowerdir=/var,upperdir=%q,workdir=%q /var; ' \
        "$name" "$root/var/$name/upper" "$root/var/$name/work"
    printf 'mount --bind %q /tmp; ' "$root/tmp"
    # /run last: the lab's own directory lives under it.
    printf 'mount --bind %q /run; exec "$@"' "$root/run"
}

# The cgroup hierarchy that names a process's systemd unit: the v1
# name=systemd one on a hybrid host, else the unified (v2) one.
cgroup_root() {
    local where
    where=$(awk '$3 == "cgroup" && $4 ~ /(^|,)name=systemd(,|$)/ { print $2; exit }' /proc/self/mounts)
    [ -n "$where" ] || where=$(awk '$3 == "cgroup2" && $2 == "/sys/fs/cgroup" { print $2; exit }' /proc/self/mounts)
    [ -n "$where" ] || die "no name=systemd (v1) or /sys/fs/cgroup (v2) cgroup hierarchy to give the daemons their units"
    echo "$where/portcullis-lab-$1.slice"
}

# start NS UNIT NAME CMD...: runs CMD in NS (own mount namespace, private
# dirs), detached from this shell, stdout/stderr to the lab's log, in a
# cgroup named like its systemd unit (…/UNIT), as systemd would place it: the
# audit reads the unit from /proc/PID/cgroup. The pid is that of CMD itself
# (sh, ip netns exec and sh again all exec).
start() {
    local ns=$1 unit=$2 name=$3
    shift 3
    local root=/run/netns-lab/$ns cg
    cg=$(cgroup_root "$ns")/$unit
    mkdir -p "$cg"
    # shellcheck disable=SC2016
    setsid sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' lab "$cg" \
        ip netns exec "$ns" sh -c "$(mounts_script "$root" "$name")" "$name" "$@" \
        </dev/null >>"$root/$name.log" 2>&1 &
    echo "$name $unit $!" >>"$root/started"
}

# --- configuration ------------------------------------------------------------

# The entries of /etc that the lab overrides for NS: a copy of the package's
# default, changed in the few lines shown here. `default` changes only
# postfix (see below).
configure() {
    local mode=$1 ns=$2
    local etc=/etc/netns/$ns
    mkdir -p "$etc"

    # postfix: Debian's postinst for "Internet Site" sets inet_interfaces = all
    # and, when the mailer was "Local only", default_transport and
    # relay_transport back to smtp. The lab applies exactly that to a copy of
    # /etc/postfix, so the run does not depend on how this host answered the
    # debconf question (.ci/run preseeds "Internet Site" for fresh installs).
    cp -a /etc/postfix "$etc/postfix"
    postconf -c "$etc/postfix" -e "inet_interfaces = all"
    if [ "$(postconf -c "$etc/postfix" -hx default_transport)" = error ]; then
        postconf -c "$etc/postfix" -e "default_transport = smtp" "relay_transport = smtp"
    fi
    [ "$mode" = default ] && return 0

    # hardened: mail is delivered locally only.
    postconf -c "$etc/postfix" -e "inet_interfaces = loopback-only"

    # samba: serve loopback only, no NetBIOS (nmbd is not started).
    cp -a /etc/samba "$etc/samba"
    sed -i 's/^\[global\]$/[global]\n   interfaces = lo\n   bind interfaces only = yes\n   disable netbios = yes\n   smb ports = 445/' "$etc/samba/smb.conf"
    grep -q '^   bind interfaces only = yes$' "$etc/samba/smb.conf" || die "no [global] section in /etc/samba/smb.conf"

    # dnsmasq: answer on loopback only, bound to it.
    cp -a /etc/dnsmasq.conf "$etc/dnsmasq.conf"
    printf '\n# expert-lab hardened\ninterface=lo\nbind-interfaces\n' >>"$etc/dnsmasq.conf"

    # chrony: no command port on UDP (chronyc as root uses the Unix socket).
    cp -a /etc/chrony "$etc/chrony"
    printf '\n# expert-lab hardened\ncmdport 0\n' >>"$etc/chrony/chrony.conf"

    # snmpd: Debian's default already listens on 127.0.0.1 and ::1 only and
    # its unit disables SMUX (-I -smux); mariadb, redis and memcached already
    # bind loopback only; sshd stays as it is. rpcbind is not started.
}

# --- the daemons --------------------------------------------------------------

start_daemons() {
    local mode=$1 ns=$2
    # ssh.service: ExecStart=/usr/sbin/sshd -D $SSHD_OPTS (SSHD_OPTS= in /etc/default/ssh)
    start "$ns" ssh.service sshd /usr/sbin/sshd -D
    # postfix@-.service: ExecStart=/usr/sbin/postmulti -i - -p start (master forks into the background)
    start "$ns" postfix@-.service postfix /usr/sbin/postmulti -i - -p start
    # dnsmasq.service: /usr/share/dnsmasq/systemd-helper exec (dnsmasq forks; pid file /run/dnsmasq/dnsmasq.pid)
    start "$ns" dnsmasq.service dnsmasq /usr/share/dnsmasq/systemd-helper exec
    if [ "$mode" = default ]; then
        # rpcbind.service: ExecStart=/sbin/rpcbind -f $OPTIONS (OPTIONS="-w" in /etc/default/rpcbind)
        start "$ns" rpcbind.service rpcbind /sbin/rpcbind -f -w
    fi
    # chrony.service: ExecStart=!/usr/sbin/chronyd $DAEMON_OPTS (DAEMON_OPTS="-F 1").
    # -x added: the system clock is not namespaced, so the lab's chronyd must
    # never adjust it. -x changes no socket.
    start "$ns" chrony.service chronyd /usr/sbin/chronyd -F 1 -x
    # snmpd.service
    start "$ns" snmpd.service snmpd /usr/sbin/snmpd -LOw -u Debian-snmp -g Debian-snmp -I -smux,mteTrigger,mteTriggerConf -f
    # smbd.service / nmbd.service: --foreground --no-process-group $SMBDOPTIONS / $NMBDOPTIONS (both empty)
    start "$ns" smbd.service smbd /usr/sbin/smbd --foreground --no-process-group
    if [ "$mode" = default ]; then
        start "$ns" nmbd.service nmbd /usr/sbin/nmbd --foreground --no-process-group
    fi
    # mariadb.service: User=mysql, the unit's ExecStart verbatim ($MYSQLD_OPTS and
    # $_WSREP_NEW_CLUSTER unset).
    start "$ns" mariadb.service mariadbd setpriv --reuid=mysql --regid=mysql --init-groups /bin/sh -c \
        'set -f; [ ! -e /usr/bin/galera_recovery ] && VAR= || VAR=`/usr/bin/galera_recovery`; [ $? -eq 0 ] || exit 1; exec /usr/sbin/mariadbd $MYSQLD_OPTS $_WSREP_NEW_CLUSTER $VAR'
    # redis-server.service: User=redis
    start "$ns" redis-server.service redis-server setpriv --reuid=redis --regid=redis --init-groups \
        /usr/bin/redis-server /etc/redis/redis.conf --supervised systemd --daemonize no
    # memcached.service: the wrapper reads /etc/memcached.conf (-d: memcached forks)
    start "$ns" memcached.service memcached /usr/share/memcached/scripts/systemd-memcached-wrapper /etc/memcached.conf
}

# The sockets each daemon opens with the lab's configuration; `up` waits for
# all of them ("proto local-address:port process").
expected_sockets() {
    local mode=$1
    echo "tcp 0.0.0.0:22 sshd"
    echo "tcp 127.0.0.1:3306 mariadbd"
    echo "tcp 127.0.0.1:6379 redis-server"
    echo "tcp 127.0.0.1:11211 memcached"
    echo "udp 127.0.0.1:161 snmpd"
    if [ "$mode" = default ]; then
        echo "tcp 0.0.0.0:25 master"
        echo "udp 0.0.0.0:53 dnsmasq"
        echo "tcp 0.0.0.0:111 rpcbind"
        echo "udp 127.0.0.1:323 chronyd"
        echo "tcp 0.0.0.0:445 smbd"
        echo "udp 0.0.0.0:137 nmbd"
    else
        echo "tcp 127.0.0.1:25 master"
        echo "udp 127.0.0.1:53 dnsmasq"
        echo "tcp 127.0.0.1:445 smbd"
    fi
}

all_listening() {
    local ns=$1 mode=$2 table proto addr prog
    table=$(ip netns exec "$ns" ss -H -tulpn)
    while read -r proto addr prog; do
        grep -E "^$proto " <<<"$table" | grep -F " $addr " | grep -qF "\"$prog\"" || return 1
    done < <(expected_sockets "$mode")
}

up() {
    local mode=$1 ns=$2
    [ "$mode" = default ] || [ "$mode" = hardened ] || usage
    check_name "$ns"
    [ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, daemons' users)"
    local lacking
    lacking=$(missing | tr '\n' ' ')
    [ -z "$lacking" ] || die "missing packages: $lacking(apt-get install them; .ci/run does)"
    ip netns list | grep -qE "^$ns( |$)" && die "namespace $ns exists; run lab.sh down $ns first"
    [ -e "/etc/netns/$ns" ] && die "/etc/netns/$ns exists; run lab.sh down $ns first"
    local root=/run/netns-lab/$ns
    rm -rf "$root"
    mkdir -p "$root"
    echo "$mode" >"$root/mode"
    trap 'echo "lab.sh: up failed; cleaning up" >&2; down "$ns"' ERR
    make_network "$ns"
    prepare_fs "$root"
    configure "$mode" "$ns"
    start_daemons "$mode" "$ns"
    if ! wait_for 60 all_listening "$ns" "$mode"; then
        echo "lab.sh: not every daemon listens after 60 s; expected:" >&2
        expected_sockets "$mode" >&2
        echo "--- ss -tulpn in $ns:" >&2
        ip netns exec "$ns" ss -tulpn >&2 || true
        tail -n 5 "$root"/*.log >&2 || true
        false
    fi
    trap - ERR
    ip netns exec "$ns" ss -tulpn
}

down() {
    local ns=$1
    check_name "$ns"
    local root=/run/netns-lab/$ns pids round
    if ip netns list | grep -qE "^$ns( |$)"; then
        # Every process in the lab's namespace: the daemons, their workers and
        # anything they forked. Nothing outside the namespace.
        for round in TERM TERM TERM TERM TERM TERM TERM TERM TERM TERM KILL KILL KILL; do
            pids=$(ip netns pids "$ns" || true)
            [ -n "$pids" ] || break
            # shellcheck disable=SC2086
            kill -s "$round" $pids 2>/dev/null || true
            wait_for 1 sh -c "[ -z \"\$(ip netns pids '$ns')\" ]" || true
        done
        pids=$(ip netns pids "$ns" || true)
        [ -z "$pids" ] || echo "lab.sh: processes left in $ns: $pids" >&2
        ip netns del "$ns"
    fi
    ip netns list | grep -qE "^$ns-peer( |$)" && ip netns del "$ns-peer"
    local cg
    cg=$(cgroup_root "$ns")
    if [ -d "$cg" ]; then
        find "$cg" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
        rmdir "$cg" || echo "lab.sh: could not remove $cg" >&2
    fi
    rm -rf "/etc/netns/$ns" "$root"
    rmdir /run/netns-lab 2>/dev/null || true
}

case "${1:-}" in
    up) [ $# -eq 3 ] || usage; up "$2" "$3" ;;
    down) [ $# -eq 2 ] || usage; down "$2" ;;
    sockets) [ $# -eq 2 ] || usage; ip netns exec "$2" ss -tulpn ;;
    missing) missing ;;
    *) usage ;;
esac
