# shellcheck shell=bash
# bench/lib/postfix.sh: a private, throw-away Postfix instance for the benchmarks.
# Owns: writing main.cf/master.cf into its own config_directory, its own queue_directory,
#   data_directory, log file and Maildir base under the bench's temporary directory;
#   starting and stopping that instance; counting what it holds (queue, Maildir).
# Not: the system Postfix. Nothing here reads or writes /etc/postfix except that
#   `postfix check` reads the installed meta files (postfix-files) from there, as every
#   Postfix instance does; bench/run checks /etc/postfix is left as it was.
# Sourced by bench/run (bash). Every function takes the instance directory as $1.
#
# Delivery is to one Maildir through the virtual(8) agent: every address in bench.test maps
# to "bench/" (trailing '/' = Maildir) under virtual_mailbox_base, owned by 'nobody'. chroot
# is off everywhere (the 'n' in column 5 of master.cf) so no /etc files are copied into the
# queue directory. Client name lookups are off (smtpd_peername_lookup) and outbound DNS too,
# so loopback runs never wait for a resolver.

# postfix_setup DIR PORT: write the instance's configuration. DIR must already exist.
postfix_setup() {
  local dir=$1 port=$2
  local uid gid
  if ! uid=$(id -u nobody) || ! gid=$(id -g nobody); then
    echo "postfix_setup: no 'nobody' user" >&2
    return 1
  fi
  mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/mail" || return 1
  # The daemons run as 'postfix' and deliver as 'nobody': both must reach their directories.
  chmod 755 "$dir" "$dir/etc" "$dir/mail"
  chown "$uid:$gid" "$dir/mail"
  chown postfix "$dir/data"
  : >"$dir/etc/main.cf"
  postconf -c "$dir/etc" -e \
    "compatibility_level = 3.6" \
    "queue_directory = $dir/queue" \
    "data_directory = $dir/data" \
    "mail_owner = postfix" \
    "setgid_group = postdrop" \
    "syslog_name = postfix-bench" \
    "maillog_file = $dir/maillog" \
    "maillog_file_prefixes = $dir" \
    "inet_interfaces = loopback-only" \
    "inet_protocols = ipv4" \
    "myhostname = postfix.bench.test" \
    "mydomain = bench.test" \
    "myorigin = \$mydomain" \
    "mydestination = localhost" \
    "mynetworks = 127.0.0.0/8" \
    "alias_maps =" \
    "alias_database =" \
    "smtpd_peername_lookup = no" \
    "smtp_dns_support_level = disabled" \
    "lmtp_dns_support_level = disabled" \
    "biff = no" \
    "virtual_mailbox_domains = bench.test" \
    "virtual_mailbox_base = $dir/mail" \
    "virtual_mailbox_maps = static:bench/" \
    "virtual_uid_maps = static:$uid" \
    "virtual_gid_maps = static:$gid" \
    "virtual_minimum_uid = 1" \
    || return 1
  # Only the services a receive-and-deliver-locally flow needs; no chroot ('n' in column 5).
  cat >"$dir/etc/master.cf" <<EOF
# private benchmark instance written by bench/lib/postfix.sh
127.0.0.1:$port inet n  -       n       -       -       smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# postfix_start DIR: start the instance (postfix start creates the queue tree).
postfix_start() {
  timeout 60 postfix -c "$1/etc" start >>"$1/postfix-start.log" 2>&1
}

# postfix_stop DIR: stop the instance if its master is running; waits for the master to go.
postfix_stop() {
  local dir=$1 pid i
  [[ -f $dir/queue/pid/master.pid ]] || return 0
  pid=$(tr -dc 0-9 <"$dir/queue/pid/master.pid")
  timeout 30 postfix -c "$dir/etc" stop >>"$dir/postfix-start.log" 2>&1
  # postfix stop returns before the master exits; give it a bounded time, then force it.
  for ((i = 0; i < 100; i++)); do
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
  return 0
}

# postfix_queued DIR: messages still in the queue (received but not yet delivered).
postfix_queued() {
  local dir=$1 d n=0 c
  for d in maildrop incoming active deferred hold; do
    [[ -d $dir/queue/$d ]] || continue
    c=$(find "$dir/queue/$d" -type f | wc -l)
    n=$((n + c))
  done
  echo "$n"
}

# postfix_delivered DIR: messages delivered to the Maildir (new/ and cur/, not tmp/).
postfix_delivered() {
  find "$1/mail" -type f \( -path '*/new/*' -o -path '*/cur/*' \) | wc -l
}
