/** An error the user can act on: it names the file (and line) or the input that is wrong. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly location?: { file: string; line?: number; column?: number },
  ) {
    super(message);
  }
}

/** Renders any thrown value as text, never dropping a non-Error throw. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
