import * as path from 'node:path';
import { loadPlanFile } from '../core/plan/load';
import { environmentNames } from '../core/plan/environments';
import { PLAN_TEMPLATES } from '../core/plan/templates';
import { runIds } from '../core/engine/queries/runs';
import { COMMAND_NAMES, defaultWorkspace, EXIT, OPTIONS, TAKES_RUNS } from './args';
import type { Io } from './io';
import { LOAD_OPTIONS } from './load-command';

const USAGE = 'release-pilot completion bash|zsh: prints a completion script (bash: source <(release-pilot completion bash))';

/**
 * `completion bash|zsh` prints the script; `completion --list runs|environments [--plan P] [--workspace D]` is what
 * the script calls as a person types, so run ids and environments are read then, from the workspace and plan.
 */
export function completionCommand(argv: string[], io: Io): number {
  if (argv[0] === '--list') {
    for (const word of listed(argv[1], argv.slice(2))) io.out(word);
    return 0;
  }
  if (argv.length !== 1 || (argv[0] !== 'bash' && argv[0] !== 'zsh')) {
    io.err(`release-pilot: ${USAGE}`);
    return EXIT.usage;
  }
  io.out(argv[0] === 'bash' ? bashScript() : zshScript());
  return 0;
}

/** What completion offers for a run id or an environment: nothing (never an error) when there is nothing to read. */
function listed(what: string | undefined, rest: string[]): string[] {
  const at = (flag: string) => {
    const i = rest.indexOf(flag);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const planFile = path.resolve(at('--plan') ?? '.release/plan.yaml');
  try {
    if (what === 'runs') return runIds(path.resolve(at('--workspace') ?? defaultWorkspace(planFile)));
    if (what === 'environments') {
      const loaded = loadPlanFile(planFile);
      return loaded.ok ? environmentNames(loaded.plan) : [];
    }
  } catch {
    return [];
  }
  return [];
}

const flagsOf = (kind: 'string' | 'boolean') =>
  Object.entries(OPTIONS)
    .filter(([, o]) => o.type === kind)
    .map(([name]) => `--${name}`);

/** The bash script: commands, options, run ids and environments, each from the one list the CLI itself uses. */
export function bashScript(): string {
  const loadValued = Object.entries(LOAD_OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .map(([n]) => `--${n}`);
  const words = (xs: readonly string[]) => xs.join(' ');
  return `# release-pilot completion for bash. Load it with:  source <(release-pilot completion bash)
_release_pilot() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" i w
  local -a where=()
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local commands="${words(COMMAND_NAMES)}"
  local flags="${words([...flagsOf('string'), ...flagsOf('boolean')])}"
  local valued=" ${words(flagsOf('string'))} "
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    if [[ "$valued" == *" $w "* ]]; then
      [[ "$w" == --plan || "$w" == --workspace ]] && where+=("$w" "\${COMP_WORDS[i+1]}")
      (( i++ ))
    elif [[ -z "$cmd" && "$w" != -* ]]; then
      cmd="$w"
    fi
  done
  case "$prev" in
    --env) COMPREPLY=($(compgen -W "$(release-pilot completion --list environments "\${where[@]}" 2>/dev/null)" -- "$cur")); return 0 ;;
    --plan|--workspace) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    --format) COMPREPLY=($(compgen -W "md json" -- "$cur")); return 0 ;;
    --template) COMPREPLY=($(compgen -W "${words(Object.keys(PLAN_TEMPLATES))}" -- "$cur")); return 0 ;;
  esac
  [[ "$valued" == *" $prev "* ]] && return 0
  if [[ "$cmd" == load ]]; then
    case "$prev" in
      --workspace|--out) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
      ${loadValued.join('|')}) return 0 ;;
    esac
    [[ "$cur" == -* ]] && COMPREPLY=($(compgen -W "${words(Object.keys(LOAD_OPTIONS).map((n) => `--${n}`))}" -- "$cur"))
    return 0
  fi
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur")); return 0; fi
  if [[ -z "$cmd" ]]; then COMPREPLY=($(compgen -W "$commands" -- "$cur")); return 0; fi
  case "$cmd" in
    ${TAKES_RUNS.join('|')}) COMPREPLY=($(compgen -W "$(release-pilot completion --list runs "\${where[@]}" 2>/dev/null)" -- "$cur")) ;;
    completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
  esac
  return 0
}
complete -F _release_pilot release-pilot`;
}

/** The zsh script: the bash one, through zsh's bashcompinit, so both shells offer the same words. */
export function zshScript(): string {
  return `#compdef release-pilot
# release-pilot completion for zsh. Load it with:  source <(release-pilot completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashScript()}`;
}
