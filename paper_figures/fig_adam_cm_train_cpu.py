"""Figure of the reproduce target adam_cm_train_cpu (drawn by fig_train_compare.py, shared by the train-comparison targets):
  fig_adam_cm_train_cpu.py RESULTS"""
import sys

import fig_train_compare


def main(results):
    return fig_train_compare.main(results, "adam_cm_train_cpu")


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "results"))
