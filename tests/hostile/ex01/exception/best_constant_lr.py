raise RuntimeError('not today')
# SOLUTION
