export class UserError extends Error {
  constructor(
    message: string,
    readonly actions: ('Show Log' | 'Open Plan')[] = [],
  ) {
    super(message);
  }
}

/** Why nothing runs in an untrusted workspace, said the same wherever it is refused. */
export const UNTRUSTED_MESSAGE =
  'This workspace is not trusted. Release Pilot runs the commands of the release plan, so it runs nothing until you trust the workspace.';
