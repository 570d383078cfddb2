/** Orders strings by UTF-16 code units: stable across locales and much cheaper than localeCompare. */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
