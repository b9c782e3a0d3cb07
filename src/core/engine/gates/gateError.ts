import { ErrorCodes } from '../../base/errors';

/** A gate refused: `gate` names which one (version, secrets, rollback, abandon…). */
export class GateError extends Error {
  override name = 'GateError';
  readonly code = ErrorCodes.Gate;
  constructor(
    readonly gate: string,
    message: string,
  ) {
    super(message);
  }
}
