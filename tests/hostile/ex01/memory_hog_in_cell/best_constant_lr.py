hog = bytearray(8 * 2**30)
# SOLUTION
