// What the GUI suites share: the fixture model, generated alpaca rows the
// fixture tokenizer handles, and a tiny CPU run config of that model.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QString>
#include <QtTest/QtTest>

#include "config/run_config.h"

namespace droplora::ui::testing {

inline const QString kModel = QStringLiteral(DROPLORA_TEST_DATA "/models/tiny-llama-gqa");

inline void writeFile(const QString& path, const QByteArray& text) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    QVERIFY2(f.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    f.write(text);
}

// Alpaca rows numbered first … first+rows-1; the row numbered badRow (if any)
// is broken JSON.
inline QByteArray alpacaRows(int rows, int first = 1, int badRow = -1) {
    QByteArray text;
    for (int i = first; i < first + rows; ++i) {
        if (i == badRow) {
            text += "{\"instruction\": \"count to " + QByteArray::number(i) + "\", \"output\": \n";
            continue;
        }
        text += "{\"instruction\": \"Count from one to " + QByteArray::number(i % 5 + 2) +
                ".\", \"input\": \"\", \"output\": \"one two three " + QByteArray::number(i) + " done\"}\n";
    }
    return text;
}

// A DropLoRA run of the fixture model on the CPU: rank 4, 6 steps of 2 rows,
// statistics every 2 steps, evaluation and checkpoints every 3.
inline droplora::config::RunConfig tinyRunConfig(const QString& train, const QString& output) {
    droplora::config::RunConfig c;
    c.model = kModel.toStdString();
    c.data.train = train.toStdString();
    c.data.templ = "plain";  // short rows: the fixture tokenizer has 1000 pieces, the model 128 positions
    c.data.max_seq_len = 64;
    c.data.val_fraction = 0.2;
    c.adapter.method = "droplora";
    c.adapter.rank = 4;
    c.adapter.alpha = 8;
    c.adapter.drop_rate = 0.5;
    c.train.max_steps = 6;
    c.train.batch_size = 2;
    c.train.lr = 1e-3;
    c.train.warmup_steps = 0;
    c.train.stats_every = 2;
    c.train.eval_every = 3;
    c.train.save_every = 3;
    c.device = "cpu";
    c.precision = "fp32";
    c.output = output.toStdString();
    return c;
}

}  // namespace droplora::ui::testing
