import { describe, expect, it } from 'vitest';
import { cpuQuota, parseCfs, parseCpuMax } from '../../src/lib/cpu-quota.ts';

// What a worker process reads to tell a container with a CPU limit of its own from a
// process sharing its machine's cores (worker/wake-policy.ts), from files as Linux writes them.

const files = (entries: Record<string, string>) => (path: string) => entries[path];

describe('cpuQuota', () => {
  it('reads cgroup v2: a limit, no limit, and the container view of its own root', () => {
    expect(parseCpuMax('max 100000\n')).toBeNull();
    expect(parseCpuMax('50000 100000\n')).toBe(0.5);
    expect(parseCpuMax('200000 100000')).toBe(2);
    expect(
      cpuQuota(
        files({
          '/proc/self/cgroup': '0::/kubepods.slice/pod1/cri-containerd-abc.scope\n',
          '/sys/fs/cgroup/kubepods.slice/pod1/cri-containerd-abc.scope/cpu.max': '150000 100000\n',
        }),
      ),
    ).toBe(1.5);
    // A cgroup namespace shows the container its own cgroup as "/".
    expect(
      cpuQuota(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '100000 100000\n' })),
    ).toBe(1);
    expect(
      cpuQuota(
        files({
          '/proc/self/cgroup': '0::/user.slice/session-1.scope\n',
          '/sys/fs/cgroup/cpu.max': 'max 100000',
        }),
      ),
    ).toBeNull();
  });

  it('reads cgroup v1 (cpu, or cpu,cpuacct), and nothing where nothing can be read', () => {
    expect(parseCfs('-1\n', '100000\n')).toBeNull();
    expect(parseCfs('25000', '100000')).toBe(0.25);
    const v1 = (dir: string, quota: string) =>
      files({
        '/proc/self/cgroup': `4:memory:/docker/abc\n2:${dir.split('/').pop()}:/docker/abc\n1:name=systemd:/docker/abc\n`,
        [`${dir}/docker/abc/cpu.cfs_quota_us`]: quota,
        [`${dir}/docker/abc/cpu.cfs_period_us`]: '100000\n',
      });
    expect(cpuQuota(v1('/sys/fs/cgroup/cpu', '200000\n'))).toBe(2);
    expect(cpuQuota(v1('/sys/fs/cgroup/cpu,cpuacct', '50000\n'))).toBe(0.5);
    expect(cpuQuota(v1('/sys/fs/cgroup/cpu', '-1\n'))).toBeNull();
    expect(cpuQuota(files({}))).toBeNull();
    // This machine: whatever it is, an answer and no throw.
    const here = cpuQuota();
    expect(here === null || here > 0).toBe(true);
  });
});
