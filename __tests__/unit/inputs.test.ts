import { describe, expect, it } from 'vitest';
import { readInputs, DEFAULT_KANIKO_IMAGE } from '../../src/inputs.js';

function source(values: Record<string, string>) {
  const secrets: string[] = [];
  return {
    secrets,
    get: (name: string) => values[name] ?? '',
    secret: (value: string) => secrets.push(value),
  };
}

describe('readInputs', () => {
  it('fills the documented defaults', () => {
    const inputs = readInputs(source({}));
    expect(inputs).toMatchObject({
      functionsDir: 'functions',
      functions: undefined,
      mode: 'auto',
      builder: 'kaniko',
      kanikoImage: DEFAULT_KANIKO_IMAGE,
      watchdog: 'classic',
      namespace: 'default',
      waitTimeoutSeconds: 300,
      concurrency: 4,
      comment: true,
      baseImages: {},
    });
  });

  it('parses lists, durations, booleans and base images', () => {
    const inputs = readInputs(
      source({
        functions: 'alpha, beta',
        'deploy-all-on': 'templates/**\nlib/**',
        'wait-timeout': '1m30s',
        comment: 'false',
        'base-images':
          'builder=127.0.0.1:5000/golang:1.26\nwatchdog = 127.0.0.1:5000/classic-watchdog:0.3.9\nnode-runtime=127.0.0.1:5000/node:24-slim',
        registry: 'GHCR.io/Octo-Org/',
      }),
    );
    expect(inputs.functions).toEqual(['alpha', 'beta']);
    expect(inputs.deployAllOn).toEqual(['templates/**', 'lib/**']);
    expect(inputs.waitTimeoutSeconds).toBe(90);
    expect(inputs.comment).toBe(false);
    expect(inputs.baseImages).toEqual({
      builder: '127.0.0.1:5000/golang:1.26',
      watchdog: '127.0.0.1:5000/classic-watchdog:0.3.9',
      nodeRuntime: '127.0.0.1:5000/node:24-slim',
    });
    expect(inputs.registry).toBe('ghcr.io/octo-org');
    expect(readInputs(source({ functions: 'all' })).functions).toBe('all');
  });

  it.each([
    ['mode', 'yolo', 'Input "mode" must be one of auto, deploy, preview, cleanup, plan, sweep; got "yolo".'],
    ['builder', 'docker', 'Input "builder" must be one of kaniko, tekton; got "docker".'],
    ['wait-timeout', 'soon', 'Input "wait-timeout" must be a duration such as 90s or 5m; got "soon".'],
    ['concurrency', '0', 'Input "concurrency" must be a whole number of at least 1; got "0".'],
    ['comment', 'maybe', 'Input "comment" must be true or false; got "maybe".'],
    [
      'namespace',
      'Prod_NS',
      'Input "namespace" must be a Kubernetes namespace name (DNS label); got "Prod_NS".',
    ],
    [
      'functions-dir',
      '../elsewhere',
      'Input "functions-dir" must be a path inside the repository; got "../elsewhere".',
    ],
    ['registry', 'https://ghcr.io/x', 'Input "registry" must be a registry host with an optional path'],
    ['base-images', 'compiler=gcc', 'Input "base-images" takes lines of KEY=IMAGE'],
  ])('rejects %s=%s naming the input', (name, value, message) => {
    expect(() => readInputs(source({ [name]: value }))).toThrow(message);
  });

  it('masks the registry password, the kubeconfig and the token before anything else', () => {
    const input = source({
      'registry-password': 'hunter2',
      kubeconfig: 'apiVersion: v1\n',
      'github-token': 'ghs_abc',
    });
    readInputs(input);
    expect(input.secrets).toEqual(['hunter2', 'apiVersion: v1\n', 'ghs_abc']);
  });
});
