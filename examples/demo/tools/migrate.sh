#!/usr/bin/env bash
# Applies the migrations in DIR that DB has not seen yet, each in a transaction.
#   migrate.sh DB DIR
set -euo pipefail
db=${1:?database}
dir=${2:?migrations folder}
# The service writes the database meanwhile: wait for its write lock instead of failing at once.
sql() { sqlite3 -cmd '.timeout 5000' "$@"; }
sql "$db" 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);'
for f in "$dir"/*.sql; do
  v=$(basename "$f" | sed -E 's/^0*([0-9]+)_.*/\1/')
  if [ -n "$(sql "$db" "SELECT 1 FROM schema_migrations WHERE version = $v;")" ]; then
    echo "skip $f (already applied)"
    continue
  fi
  { echo 'BEGIN IMMEDIATE;'; cat "$f"; echo "INSERT INTO schema_migrations VALUES ($v, datetime('now'));"; echo 'COMMIT;'; } | sql -bail "$db"
  echo "applied $f"
done
echo "schema version $(sql "$db" 'SELECT MAX(version) FROM schema_migrations;')"
