# SOLUTION
print('x' * 10**9)
