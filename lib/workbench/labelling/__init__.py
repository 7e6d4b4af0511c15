"""Toolkit for 01_labelling: labelling functions, the label model, mined rules, label noise,
label acquisition (learning curves, active learning), natural labels and their delay.
"""
