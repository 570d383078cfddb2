// dist/index.js run exactly as a GitHub runner runs it: INPUT_* variables, a real push payload at
// GITHUB_EVENT_PATH, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files read back afterwards.
import { afterEach, describe, expect, it } from 'vitest';
import { goFunction, makeRepo, type TestRepo } from '../../test/support/git-repo.js';
import { runAction as runBundle } from '../../test/support/action-runner.ts';
import { pushEvent } from '../../test/github/events.ts';

function runAction(repo: TestRepo, eventName: string, payload: unknown, inputs: Record<string, string>) {
  return runBundle({
    workspace: repo.dir,
    eventName,
    payload,
    inputs,
    env: { GITHUB_REF: 'refs/heads/main' },
  });
}

describe('the action bundle in mode plan', () => {
  let repo: TestRepo | undefined;
  afterEach(() => repo?.remove());

  it('plans a push to main: functions output, changed output and a summary table', async () => {
    repo = makeRepo();
    const before = repo.commit('initial', {
      ...goFunction('alpha'),
      ...goFunction('beta'),
      'README.md': '# fns\n',
    });
    const after = repo.commit('change alpha', { 'functions/alpha/util.go': 'package main\n' });

    const result = await runAction(repo, 'push', pushEvent({ before, after }), {
      mode: 'plan',
      registry: 'registry.example.com/team',
      'github-token': 'ghs_not_used_in_plan_mode',
    });

    expect(result.code).toBe(0);
    const functions = JSON.parse(result.outputs['functions'] ?? 'null') as Record<string, unknown>[];
    expect(functions).toEqual([
      {
        name: 'alpha',
        service: 'alpha',
        action: 'deploy',
        status: 'planned',
        image: expect.stringMatching(
          /^registry\.example\.com\/team\/functions\/alpha:ctx-[0-9a-f]{32}$/,
        ) as unknown,
      },
      { name: 'beta', service: 'beta', action: 'skip', status: 'skipped', reason: 'unchanged' },
    ]);
    expect(JSON.parse(result.outputs['changed'] ?? 'null')).toEqual(['alpha']);
    expect(JSON.parse(result.outputs['urls'] ?? 'null')).toEqual({});
    expect(result.summary).toContain('## faas-deploy plan (deploy)');
    expect(result.summary).toMatch(
      /\| alpha \| alpha \| deploy \| 📝 planned \| `registry\.example\.com\/team\/functions\/alpha:ctx-/,
    );
    expect(result.summary).toContain('| beta | beta | skip | ⏭️ skipped |');
    // The token reaches the log only inside the runner's mask command, never in clear.
    const leaks = result.stdout.split('\n').filter((line) => line.includes('ghs_not_used_in_plan_mode'));
    expect(leaks).toEqual(['::add-mask::ghs_not_used_in_plan_mode']);
  });

  it('fails with an annotation on the manifest line when function.yaml is invalid', async () => {
    repo = makeRepo();
    const before = repo.commit('initial', goFunction('alpha'));
    const after = repo.commit('bad manifest', {
      'functions/alpha/function.yaml': 'runtime: go\ntimeout: forever\n',
    });
    const result = await runAction(repo, 'push', pushEvent({ before, after }), { mode: 'plan' });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      '::error title=Invalid function,file=functions/alpha/function.yaml,line=2,col=1::',
    );
    expect(result.stdout).toContain('field "timeout" must be a duration such as 30s, 2m or 1m30s');
  });

  it('rejects a wrong input value by name', async () => {
    repo = makeRepo();
    const sha = repo.commit('initial', goFunction('alpha'));
    const result = await runAction(repo, 'push', pushEvent({ before: sha, after: sha }), {
      mode: 'plan',
      builder: 'docker',
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('::error::Input "builder" must be one of kaniko, tekton; got "docker".');
  });
});
