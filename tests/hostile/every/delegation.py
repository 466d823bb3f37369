# SOLUTION
_right = TARGET

def TARGET(*args, **kwargs):
# FORBIDDEN
    return _right(*args, **kwargs)
