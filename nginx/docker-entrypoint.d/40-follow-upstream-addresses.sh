#!/bin/sh
# scale-lab: keeps the nginx container's upstreams on the api container's current
# address. Run by the nginx image's entrypoint (any executable
# /docker-entrypoint.d/*.sh runs before nginx starts); docker-compose.yml mounts it.
#
# nginx resolves `server api:3001` once, when it loads its configuration. Recreate
# the api container and Docker gives it another address: nginx keeps sending to the
# old one (502 SL_NO_INSTANCE for every request, for ever). This leaves a watcher
# behind that resolves SL_UPSTREAM_HOSTS every SL_RESOLVE_EVERY seconds and, when
# the addresses changed, reloads nginx: new workers resolve the names again and the
# old ones finish their requests. The upstream block (keepalive, round robin,
# passive failover) stays as it is, on nginx 1.22 as on 1.27 (whose `server ...
# resolve` needs a shared-memory zone and re-resolves by itself). docs/containers.md
# explains the choice.
set -eu

ME=$(basename "$0")
hosts="${SL_UPSTREAM_HOSTS:-}"
every="${SL_RESOLVE_EVERY:-1}"
if [ -z "$hosts" ]; then
    echo "$ME: SL_UPSTREAM_HOSTS is empty: not following upstream addresses"
    exit 0
fi

# The sorted addresses of every host: glibc's `getent ahosts` lists them all
# (Debian images); musl's getent (Alpine images) knows only `hosts`.
addresses() {
    for host in $hosts; do
        getent ahosts "$host" 2>/dev/null || getent hosts "$host" 2>/dev/null || true
    done | awk '{ print $1 }' | sort -u | awk '{ printf "%s%s", sep, $0; sep = " " }'
}

follow() {
    last=$(addresses)
    echo "$ME: following $hosts (now: ${last:-unresolved}) every ${every}s"
    while sleep "$every"; do
        now=$(addresses)
        # Unresolved (the container is being replaced): keep what nginx has until a name comes back.
        [ -n "$now" ] && [ "$now" != "$last" ] || continue
        # `nginx -t` resolves the names as the reload will: a reload that could not would be
        # refused by the master, and the next tick tries again.
        if nginx -t -q 2>/dev/null && nginx -s reload; then
            echo "$ME: $hosts moved from ${last:-unresolved} to $now: nginx reloaded"
            last=$now
        fi
    done
}

follow </dev/null &
