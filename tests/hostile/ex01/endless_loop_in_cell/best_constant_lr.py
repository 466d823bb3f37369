while True:
    pass
# SOLUTION
