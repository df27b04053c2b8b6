"""Loaded by the Streamlit servers `python -m bench dashboard-browser` starts (this folder is put on
their PYTHONPATH): appends the start and end (time.time()) of every script run, a fragment's too,
to the file $ZHY_RUN_LOG, so the benchmark knows the server's own share of each step whatever
code the server runs."""

import os

if os.environ.get("ZHY_RUN_LOG"):
    import time

    from streamlit.runtime.scriptrunner import script_runner

    _run_script = script_runner.ScriptRunner._run_script

    def _timed(self, rerun_data):
        start = time.time()
        try:
            return _run_script(self, rerun_data)
        finally:
            fragment = 1 if getattr(rerun_data, "fragment_id_queue", None) else 0
            with open(os.environ["ZHY_RUN_LOG"], "a") as log:
                log.write(f"{start:.4f} {time.time():.4f} {fragment}\n")

    script_runner.ScriptRunner._run_script = _timed
