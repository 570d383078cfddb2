// The kubeconfig input: plain or base64, every credential found for masking, the file 0600 in a
// private directory and removed again.
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeKubeconfigInput,
  kubeconfigSecrets,
  writeKubeconfigFile,
} from '../../../src/kube/kubeconfig.js';
import { UserError } from '../../../src/util/errors.js';

const keyPem =
  '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkeyLineOne0123456789abcdef\nAwEHoUQDQgAEkeyLineTwo\n-----END EC PRIVATE KEY-----\n';
const kubeconfig = `apiVersion: v1
kind: Config
clusters:
  - name: c
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: Q0FEQVRB
users:
  - name: token-user
    user:
      token: eyJhbGciOiJSUzI1NiJ9.payload.signature
  - name: cert-user
    user:
      client-certificate-data: Q0VSVA==
      client-key-data: ${Buffer.from(keyPem).toString('base64')}
  - name: basic-user
    user:
      username: admin
      password: s3cret-pass
  - name: oidc-user
    user:
      auth-provider:
        name: oidc
        config:
          client-id: public-id
          client-secret: oidc-client-secret
          id-token: oidc-id-token-value
          refresh-token: oidc-refresh-token
  - name: exec-user
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: aws
        env:
          - name: AWS_SECRET_ACCESS_KEY
            value: aws-secret-value
contexts:
  - name: ctx
    context: { cluster: c, user: token-user, namespace: functions }
current-context: ctx
`;

describe('decodeKubeconfigInput', () => {
  it('takes YAML as it is', () => {
    expect(decodeKubeconfigInput(kubeconfig)).toBe(kubeconfig.trim());
  });

  it('decodes base64, on one line or wrapped at 76 columns', () => {
    const b64 = Buffer.from(kubeconfig).toString('base64');
    expect(decodeKubeconfigInput(b64)).toBe(kubeconfig);
    expect(decodeKubeconfigInput(b64.replace(/(.{76})/g, '$1\n'))).toBe(kubeconfig);
  });

  it('rejects what is neither, without quoting the content', () => {
    expect(() => decodeKubeconfigInput('bm90IGEga3ViZWNvbmZpZw==')).toThrow(UserError);
    expect(() => decodeKubeconfigInput('bm90IGEga3ViZWNvbmZpZw==')).toThrow(/looks like base64 but/);
    expect(() => decodeKubeconfigInput('token: abc')).toThrow(/must be a kubeconfig file/);
    try {
      decodeKubeconfigInput('secret-token-xyz: 1');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-token-xyz');
    }
    expect(() => decodeKubeconfigInput('  ')).toThrow(/empty/);
  });
});

describe('kubeconfigSecrets', () => {
  const secrets = kubeconfigSecrets(kubeconfig);

  it('finds tokens, passwords, client keys (and their PEM lines), auth-provider and exec secrets', () => {
    expect(secrets).toEqual(
      expect.arrayContaining([
        'eyJhbGciOiJSUzI1NiJ9.payload.signature',
        Buffer.from(keyPem).toString('base64'),
        'MHcCAQEEIBkeyLineOne0123456789abcdef',
        'AwEHoUQDQgAEkeyLineTwo',
        's3cret-pass',
        'oidc-client-secret',
        'oidc-id-token-value',
        'oidc-refresh-token',
        'aws-secret-value',
      ]),
    );
  });

  it('leaves public values alone (server, CA, certificate, user names, client id)', () => {
    for (const value of [
      'https://127.0.0.1:6443',
      'Q0FEQVRB',
      'Q0VSVA==',
      'admin',
      'public-id',
      'token-user',
    ]) {
      expect(secrets).not.toContain(value);
    }
    expect(secrets.some((s) => s.startsWith('-----'))).toBe(false);
  });
});

describe('writeKubeconfigFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'faas-kc-unit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes 0600 in a 0700 directory of the temp dir and removes both', async () => {
    const file = await writeKubeconfigFile(dir, kubeconfig);
    expect(path.dirname(path.dirname(file.path))).toBe(dir);
    expect((await stat(file.path)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file.path))).mode & 0o777).toBe(0o700);
    expect(await readFile(file.path, 'utf8')).toBe(kubeconfig);
    await file.remove();
    expect(existsSync(file.path)).toBe(false);
    expect(existsSync(path.dirname(file.path))).toBe(false);
    await file.remove();
  });
});
