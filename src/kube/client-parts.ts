// The parts of @kubernetes/client-node that src/kube uses at run time, each from its own module. The package's index
// loads every API group and its ObjectSerializer with ≈ 1,000 model classes (≈ 45 MB of RSS and 16 MB of heap in
// the controller, docs/performance.md); these modules do not (with client-node-loading.ts for the two that import
// them). The package has no `exports` map, so its dist/ files are importable; test/unit/client-node-loading.test.ts
// fails if one of these paths goes away or starts loading the models again. Types still come from the index
// (`import type` costs nothing at run time).
export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
export { ListWatch } from '@kubernetes/client-node/dist/cache.js';
export { ERROR } from '@kubernetes/client-node/dist/informer.js';
export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
export { V1MicroTime } from '@kubernetes/client-node/dist/types.js';
