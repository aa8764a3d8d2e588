// Semantic checks of the spec.seed options beyond enabled/path/sentinel: reseed policy, image-owned paths, where the
// seeder runs and as whom. Kept apart so that the seed options stay one localized concern of the policy.
import type { FieldErrorList } from './field-errors.ts';
import type { PolicySpec } from './types.ts';

export const seedReseedValues = ['merge', 'never'] as const;
export const seedSourceValues = ['shell', 'imageVolume'] as const;
export const seedRunAsValues = ['auto', 'root', 'sandboxUser'] as const;

/** Loose image reference check: what the container runtime accepts is checked by the API server and kubelet. */
const imageReferencePattern = /^[a-z0-9][a-z0-9._:/@-]*[a-zA-Z0-9_.+-]*$/i;

export function checkSeedOptions(seed: PolicySpec['seed'], errors: FieldErrorList): void {
  if (!seedReseedValues.includes(seed.reseed)) errors.unsupported('spec.seed.reseed', seed.reseed, seedReseedValues);
  if (!seedSourceValues.includes(seed.source)) errors.unsupported('spec.seed.source', seed.source, seedSourceValues);
  if (!seedRunAsValues.includes(seed.runAs)) errors.unsupported('spec.seed.runAs', seed.runAs, seedRunAsValues);

  seed.imageOwnedPaths.forEach((path, index) => {
    const field = `spec.seed.imageOwnedPaths[${index}]`;
    if (path === '' || path.startsWith('/')) errors.invalid(field, path, `must be a path relative to spec.seed.path (${seed.path})`);
    else if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
      errors.invalid(field, path, "must be normalised: no empty, '.' or '..' segments and no trailing '/'");
    } else if (/[\n\0]/.test(path)) errors.invalid(field, path, 'must not contain a newline or NUL');
    else if (path.split('/')[0] === seed.sentinel || path.startsWith(`${seed.sentinel}.`)) {
      errors.invalid(field, path, `must not name the seed record ${seed.sentinel}`);
    } else if (seed.imageOwnedPaths.indexOf(path) !== index) errors.invalid(field, path, 'is listed twice');
  });

  if (seed.source === 'imageVolume' && seed.seederImage === '') {
    errors.required('spec.seed.seederImage', 'spec.seed.source imageVolume runs the seeder in this image (e.g. the sandbox-storage image)');
  }
  if (seed.seederImage !== '' && !imageReferencePattern.test(seed.seederImage)) {
    errors.invalid('spec.seed.seederImage', seed.seederImage, 'must be an image reference such as registry.example/sandbox-storage:0.1.0');
  }
}
