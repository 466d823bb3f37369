# SOLUTION
from IPython.display import display
display({'text/plain': 'x' * 200 * 2**20, 'text/html': '<p>' + 'y' * 200 * 2**20}, raw=True)
'z' * 200 * 2**20
