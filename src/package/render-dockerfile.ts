import type { BaseImages } from '../inputs.js';
import type { FunctionSpec } from '../plan/types.js';
import { fillTemplate, TEMPLATE_VERSION } from './template.js';

/**
 * Request timeouts derived from the function's `timeout`: the watchdog's exec timeout ends the
 * function first, its read/write timeouts sit one second above so the timeout answer still goes
 * out, and Knative's timeoutSeconds one more second above that.
 */
export function requestTimeouts(timeoutSeconds: number): {
  exec: string;
  read: string;
  write: string;
  knativeTimeoutSeconds: number;
} {
  const exec = Math.ceil(timeoutSeconds);
  return { exec: `${exec}s`, read: `${exec + 1}s`, write: `${exec + 1}s`, knativeTimeoutSeconds: exec + 2 };
}

/** The Dockerfile for one function from its runtime's template. */
export function renderDockerfile(
  spec: FunctionSpec,
  template: { text: string },
  images: Required<BaseImages>,
): string {
  const timeouts = requestTimeouts(spec.timeoutSeconds);
  return fillTemplate(template.text, {
    templateVersion: TEMPLATE_VERSION,
    functionName: spec.name,
    builderImage:
      spec.runtime === 'node' ? images.node : spec.runtime === 'python' ? images.python : images.builder,
    runtimeImage:
      spec.runtime === 'node' ? images.node : spec.runtime === 'python' ? images.python : images.runtime,
    watchdogImage: spec.watchdog === 'classic' ? images.watchdog : images.ofWatchdog,
    execTimeout: timeouts.exec,
    readTimeout: timeouts.read,
    writeTimeout: timeouts.write,
  });
}
