// How the learned update ΔW = s·B·A evolves, for the selected module and as
// the mean over all modules: effective rank over time, subspace drift over
// time (to the previous sample and to the first), and the singular-value
// spectrum now against the first sample.
#pragma once

#include <QMap>
#include <QVector>
#include <QWidget>
#include <vector>

#include "metatypes.h"

class QCustomPlot;
class QCPGraph;
class QLabel;

namespace droplora::ui {

class SubspacePlot : public QWidget {
    Q_OBJECT

public:
    explicit SubspacePlot(QWidget* parent = nullptr);

    void clear();
    void setHistory(const QVector<droplora::train::StatsSample>& samples);

    QString selectedModule() const { return m_selected; }
    int sampleCount() const { return m_mean.steps.size(); }
    QCustomPlot* rankPlot() const { return m_rankPlot; }
    QCustomPlot* driftPlot() const { return m_driftPlot; }
    QCustomPlot* spectrumPlot() const { return m_spectrumPlot; }
    // What the "?" says: what the plots show and what a healthy run looks like.
    static QString helpHtml();

public slots:
    void addSample(const droplora::train::StatsSample& sample);
    void setModule(const QString& module);

private:
    struct Series {
        QVector<double> steps, effectiveRank, driftPrev, driftFirst;
        std::vector<double> firstSpectrum, lastSpectrum;
        qint64 firstStep = 0, lastStep = 0;
    };

    void append(Series& s, qint64 step, double rank, double driftPrev, double driftFirst,
                const std::vector<double>& spectrum);
    void redraw();
    static QCustomPlot* makePlot(const QString& xLabel, const QString& yLabel, QWidget* parent);

    QLabel* m_title;
    QCustomPlot* m_rankPlot;
    QCustomPlot* m_driftPlot;
    QCustomPlot* m_spectrumPlot;
    QCPGraph* m_rankModule;
    QCPGraph* m_rankMean;
    QCPGraph* m_driftPrevModule;
    QCPGraph* m_driftFirstModule;
    QCPGraph* m_driftPrevMean;
    QCPGraph* m_driftFirstMean;
    QCPGraph* m_spectrumNow;
    QCPGraph* m_spectrumFirst;
    QMap<QString, Series> m_modules;
    Series m_mean;  // element-wise mean over the modules of each sample
    QString m_selected;
};

}  // namespace droplora::ui
