/**
 * One of Node's internal bindings through `process.binding()`, for the CLI's start-up paths that
 * call Node's C++ directly (src/util/spawn-blocking.ts, spawn-background.ts, fs-probe.ts; each
 * checks the Node major and the binding's shape itself). Undefined where process.binding is missing,
 * refuses the name, or is wrapped: --pending-deprecation replaces Node's own function, named
 * "binding", with one named "deprecated" that prints DEP0111 on standard error.
 */
export function processBinding(
  name: string,
  binder: unknown = (process as { binding?: unknown }).binding,
): Record<string, unknown> | undefined {
  if (typeof binder !== 'function' || binder.name !== 'binding') return undefined;
  try {
    const binding: unknown = (binder as (name: string) => unknown).call(process, name);
    return typeof binding === 'object' && binding !== null ? (binding as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
