#!/usr/bin/env bash
# One command for a fresh Debian machine: install deps, build, and run the server on the
# embedded SQLite default (./permcache.db) with the demo model loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target permcache
listen="${PERMCACHE_LISTEN:-127.0.0.1:8080}"
cat <<MSG

permcache is starting on http://${listen} (store: sqlite:permcache.db, demo model loaded).
Try, from another terminal:
  curl 'http://${listen}/v1/check?tenant=hospital&user=jane&permission=ui:menu_pharmacy&explain=1'
  curl 'http://${listen}/v1/check?tenant=hospital&user=phil&permission=ui:menu_pharmacy'
  curl -X POST http://${listen}/v1/write -d '{"ops":[{"op":"put_role_policy","tenant":"hospital","role":"nurse","policy":"menu_pharmacy"}]}'
  curl 'http://${listen}/v1/check?tenant=hospital&user=jane&permission=ui:menu_pharmacy'
  curl 'http://${listen}/v1/tenants/acme/users/alice/permissions'
  curl 'http://${listen}/v1/cache/stats'
  build/release/src/cli/permcache check acme alice assets:read --server http://${listen}
Media library (tenant cinemata, seed 001) and UI elements (hospital, seed 002):
  curl 'http://${listen}/v1/check?tenant=cinemata&permission=media:view&resource=trailer'
  curl 'http://${listen}/v1/check?tenant=cinemata&permission=media:view&resource=diary'
  curl -X POST http://${listen}/v1/resources/unlock -d '{"tenant":"cinemata","resource":"premiere","password":"letmein"}'
  curl 'http://${listen}/v1/check?tenant=cinemata&permission=media:view&resource=premiere&token=TOKEN'
  curl 'http://${listen}/v1/check?tenant=hospital&user=phil&element=menu_pharmacy'
  curl 'http://${listen}/v1/tenants/hospital/users/jane/ui'
  echo letmein | build/release/src/cli/permcache unlock cinemata premiere --server http://${listen}
Groups (seed 004): kim is a hospital member only through the group "agency":
  curl 'http://${listen}/v1/tenants/hospital/users/kim/membership'
  curl 'http://${listen}/v1/check?tenant=hospital&user=kim&permission=patients:read&explain=1'
Stop with Ctrl-C.

MSG
exec build/release/src/cli/permcache serve --store sqlite:permcache.db --listen "$listen" --demo "$@"
