#!/bin/bash
# usage: run_staged.sh NN  (executes dev/family-rebuild/NN.md against the artifacts in $ART, default /tmp/smoke_art)
set -e
cd "$(git rev-parse --show-toplevel)/notebooks"
ART=${ART:-/tmp/smoke_art}
python3 - "$1" "$ART" <<'PY'
import sys
n, art = sys.argv[1], sys.argv[2]
s = open(f"dev/family-rebuild/{n}.md").read()
inject = f'''```{{code-cell}} ipython3
import mirage_utils.arithmetic.shards as _s
_o = _s.load_artifacts
_s.load_artifacts = lambda c, out_dir=None: _o(c, "{art}")
```

'''
i = s.index("```{code-cell} ipython3\nimport numpy as np")
open(f"dev/family-rebuild/_run_{n}.md", "w").write(s[:i] + inject + s[i:])
PY
../.venv/bin/jupytext --to ipynb dev/family-rebuild/_run_$1.md -o dev/family-rebuild/_run_$1.ipynb -q
OMP_NUM_THREADS=1 timeout 600 ../.venv/bin/jupyter execute dev/family-rebuild/_run_$1.ipynb --output dev/family-rebuild/_out_$1.ipynb 2>&1 | grep -v "NbClientApp\|IPKernelApp" | tail -30
