"""Toolkit for 08_deployment: model runtimes behind one interface (`runtimes`, with one adapter module
per third-party runtime), the logistic floor (`linear`), the size frontier (`frontier`), features of
the recent past and their staleness (`staleness`), a latency harness (`latency`), a real prediction
service (`app`, launched by `service`), a load generator (`load`) and the economics of batch, online
and hybrid prediction (`economics`).
"""

__all__: list[str] = []
