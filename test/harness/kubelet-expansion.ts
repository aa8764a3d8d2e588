// The kubelet's expansion of container command and args (k8s.io/kubernetes third_party/forked/golang/expansion):
// `$(NAME)` becomes env NAME's value when defined, `$$` becomes `$`, anything else stays.
export function kubeletExpand(input: string, env: Record<string, string>): string {
  let output = '';
  for (let cursor = 0; cursor < input.length; cursor += 1) {
    if (input[cursor] === '$' && cursor + 1 < input.length) {
      const next = input[cursor + 1];
      if (next === '$') {
        output += '$';
        cursor += 1;
      } else if (next === '(') {
        const close = input.indexOf(')', cursor + 2);
        if (close === -1) {
          output += '$(';
          cursor += 1;
        } else {
          const name = input.slice(cursor + 2, close);
          output += name in env ? env[name] : `$(${name})`;
          cursor = close;
        }
      } else {
        output += `$${next}`;
        cursor += 1;
      }
    } else {
      output += input[cursor];
    }
  }
  return output;
}

