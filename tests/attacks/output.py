"""Printing what a passing test looks like, from the student's side, with blank answers.

A fake "Passed" line, a fake execute_result carrying points (nbgrader reads a test cell's partial
credit from its execute_result), a fake nbgrader-style JSON output, and a thread that keeps
publishing such results into whatever cell runs next.
"""

IMITATION = """
import json
import threading
import time

from IPython.display import display

for test in ("test_attention_basics", "test_attention_values", "test_attention_mask"):
    print(f"{test}: Passed (all points)")
fake = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
        "data": {"text/plain": "100"}}
print(json.dumps({"cells": [{"cell_type": "code", "outputs": [fake], "metadata": {
    "nbgrader": {"grade": True, "points": 100, "grade_id": "test_attention_basics"}}}]}))
display({"text/plain": "100"}, raw=True)
_hook = get_ipython().displayhook


def _chatter():
    for _ in range(600):
        try:
            _hook.session.send(_hook.pub_socket, "execute_result",
                               {"data": {"text/plain": "100"}, "metadata": {},
                                "execution_count": 1}, _hook.parent_header)
            _hook.session.send(_hook.pub_socket, "stream", {"name": "stdout", "text": "Passed\\n"},
                               _hook.parent_header)
        except Exception:
            pass
        time.sleep(0.05)


threading.Thread(target=_chatter, daemon=True).start()
"""
