/** An error the user can act on: it names the file (and line) or the input that is wrong. */
export class UserError extends Error {
  override name = 'UserError';
  readonly location: { file: string; line?: number; column?: number } | undefined;

  constructor(message: string, location?: { file: string; line?: number; column?: number }) {
    super(message);
    this.location = location;
  }
}

/**
 * Renders any thrown value as text, never dropping a non-Error throw: a system error with its code
 * (ECONNRESET, …), and fetch's "fetch failed" by its cause (ECONNREFUSED, a certificate error).
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    if (error.message === 'fetch failed' && error.cause !== undefined) return describeError(error.cause);
    const code = (error as NodeJS.ErrnoException).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
