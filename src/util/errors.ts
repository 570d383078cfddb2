/** An error the user can act on: it names the file (and line) or the input that is wrong. */
export class UserError extends Error {
  override name = 'UserError';
  readonly location: { file: string; line?: number; column?: number } | undefined;

  constructor(message: string, location?: { file: string; line?: number; column?: number }) {
    super(message);
    this.location = location;
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
