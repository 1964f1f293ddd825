"""The seed article's serving approach, re-created as the benchmark baseline.

Deliberately naive in the ways the article is: the model is unpickled at import (no
verification), each upload is converted with PIL convert('L') + resize((28, 28)), and the
estimator's own predict() validates every request. Do not use this outside bench/.
"""

import os

import joblib
import numpy as np
from flask import Flask, jsonify, request
from PIL import Image

app = Flask(__name__)
model = joblib.load(os.environ["BASELINE_MODEL_FILE"])


@app.route("/predict", methods=["POST"])
def predict():
    image = Image.open(request.files["file"]).convert("L").resize((28, 28))
    pixels = np.array(image).reshape(1, -1) / 255.0
    digit = model.predict(pixels)[0]
    return jsonify({"digit": int(digit)})
