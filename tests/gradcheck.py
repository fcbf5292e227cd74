"""The tests' gradient checker is the lesson's: :mod:`npsrcnn.lesson.gradcheck`."""
from npsrcnn.lesson.gradcheck import numerical_grad, numerical_vjp, rel_error  # noqa: F401
