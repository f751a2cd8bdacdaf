import sys
from tests.conftest import dump, CORPUS
def test_x() -> None:
    print('tests' in sys.modules, dump.__module__, CORPUS)
