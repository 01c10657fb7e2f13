// Histogram of the rows' token lengths, with max_seq_len as a vertical line
// and how many rows it truncates.
#pragma once

#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPBars;
class QCPItemStraightLine;
class QCPItemText;

namespace droplora::ui {

class LengthHistogram : public QWidget {
    Q_OBJECT

public:
    explicit LengthHistogram(QWidget* parent = nullptr);

    // Empty lengths clear the plot and show `emptyNote` instead.
    void setLengths(const QVector<double>& lengths, const QString& emptyNote = {});
    void setMaxSeqLen(qint64 maxSeqLen);
    qint64 truncatedCount() const;
    int binCount() const;
    QCustomPlot* plot() const { return m_plot; }

private:
    void rebuild();
    void updateLimit();

    QCustomPlot* m_plot;
    QCPBars* m_bars;
    QCPItemStraightLine* m_limit;
    QCPItemText* m_label;
    QVector<double> m_lengths;
    qint64 m_maxSeqLen = 512;
    QString m_emptyNote;
};

}  // namespace droplora::ui
