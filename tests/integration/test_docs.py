"""Documents that are generated from the source stay in step with it."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_authorization_doc_holds_the_table_of_the_source():
    table = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "authorization_table.py")], check=True,
                           capture_output=True, text=True).stdout
    assert table.count("\n") > 60  # every served API has a row
    doc = open(os.path.join(ROOT, "docs", "AUTHORIZATION.md")).read()
    assert table in doc, "docs/AUTHORIZATION.md is out of date: run scripts/authorization_table.py"
