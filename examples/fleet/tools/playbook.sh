#!/usr/bin/env bash
# Runs one of the fleet's playbooks, then closes every SSH master Ansible left on the workspace's
# ControlPath (`ssh -O exit`), whatever the playbook's outcome: a deploy stopped by a failing host
# or by the gate never reaches its last play (which closes them too). On SIGTERM or SIGINT (a release
# stopped) the masters are closed before it exits. A release killed outright (kill -9) is the
# step's cgroup's to end.
#   playbook.sh ANSIBLE-PLAYBOOK-ARGUMENTS...   e.g. playbook.sh -i state/inventory.ini ansible/deploy.yml -e version=1.1.0
set -uo pipefail
cd "$(dirname "$0")/.."
cp_dir=${ANSIBLE_SSH_CONTROL_PATH_DIR:-state/ansible/cp}

close_masters() {
  local s
  for s in "$cp_dir"/*; do
    # The ControlPath is literal (no %h), so the host name given is not looked at.
    [ -S "$s" ] && ssh -o ControlPath="$s" -O exit fleet-host > /dev/null 2>&1
  done
  return 0
}

ansible-playbook "$@" &
playbook=$!
trap 'kill -TERM "$playbook" 2> /dev/null; wait "$playbook"; close_masters; exit 143' TERM
trap 'kill -INT "$playbook" 2> /dev/null; wait "$playbook"; close_masters; exit 130' INT
wait "$playbook"
rc=$?
close_masters
exit "$rc"
