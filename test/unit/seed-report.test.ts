// The seed container's termination message: parsed without trusting it, turned into one Event's type and text,
// and kept in the controller's reduced Pod view only when there is one.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { controllerPodView } from '../../src/controller/pod-view.ts';
import { parseSeedReport, seedReportEvent, seedTerminationMessage } from '../../src/controller/seed-report.ts';

const message = 'sandbox-storage-seed-report 1\nbeside=2 unplaced=0 retype=0 moved=0\nbeside: notes.txt\nbeside: dir/a b.txt\n';

function podWithSeedStatus(terminated: k8s.V1ContainerStateTerminated | undefined): k8s.V1Pod {
  return {
    metadata: { name: 'p', namespace: 'agents', uid: 'u1' },
    status: {
      phase: 'Running',
      initContainerStatuses: [
        { name: 'other', image: 'i', imageID: '', ready: true, restartCount: 0, state: { terminated: { exitCode: 0, message } } },
        { name: 'sandbox-storage-seed', image: 'i', imageID: '', ready: true, restartCount: 0, ...(terminated ? { state: { terminated } } : {}) },
      ],
    },
  };
}

describe('the seed report', () => {
  it('counts and paths of each kind', () => {
    expect(parseSeedReport(message)).toEqual({
      counts: { beside: 2, unplaced: 0, retype: 0, moved: 0 },
      paths: { beside: ['notes.txt', 'dir/a b.txt'], unplaced: [], retype: [], moved: [] },
    });
  });

  it('anything else is no report: another header, nothing counted, counts that are no numbers', () => {
    expect(parseSeedReport('sandbox-storage seed: error: x')).toBeUndefined();
    expect(parseSeedReport('sandbox-storage-seed-report 1\nbeside=0 unplaced=0 retype=0 moved=0\n')).toBeUndefined();
    expect(parseSeedReport('sandbox-storage-seed-report 1\nbeside=1e9 retype=-1 __proto__=5\nbeside: x\n')).toBeUndefined();
    expect(parseSeedReport('sandbox-storage-seed-report 2\nbeside=1\nbeside: x\n')).toBeUndefined();
  });

  it('Normal when every new version is beside the user\'s file; Warning when something could not be applied', () => {
    expect(seedReportEvent(parseSeedReport(message)!)).toEqual({
      type: 'Normal',
      message: 'the seeder kept 2 file(s) you changed that the image changed too; its new version is beside each as NAME.sandbox-storage-new: "notes.txt", "dir/a b.txt"',
    });
    const mixed = parseSeedReport('sandbox-storage-seed-report 1\nbeside=9 unplaced=1 retype=1 moved=1\nbeside: a\nunplaced: b\nretype: c\nmoved: .sandbox-storage-home -> .sandbox-storage-home.displaced\n')!;
    const event = seedReportEvent(mixed);
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('"a" and 8 more');
    expect(event.message).toContain('could not put its new version beside them (NAME.sandbox-storage-new is yours): "b"');
    expect(event.message).toContain('did not apply 1 type change(s) of the image (file <-> directory), your changes are in the way: "c"');
    expect(event.message).toContain('moved 1 entr(ies) aside without overwriting anything: ".sandbox-storage-home -> .sandbox-storage-home.displaced"');
  });

  it('read from the seed container\'s status only, and kept in the controller\'s Pod view only when there is one', () => {
    const pod = podWithSeedStatus({ exitCode: 0, message });
    expect(seedTerminationMessage(pod)).toBe(message);
    expect(seedTerminationMessage(controllerPodView(pod))).toBe(message);
    const without = podWithSeedStatus({ exitCode: 0 });
    expect(seedTerminationMessage(without)).toBeUndefined();
    expect(controllerPodView(without).status).toEqual({ phase: 'Running' });
    expect(seedTerminationMessage(podWithSeedStatus(undefined))).toBeUndefined();
  });
});
