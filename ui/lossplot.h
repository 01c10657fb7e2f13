// Training loss (raw, light) with its exponential moving average (bold),
// validation loss as points, the learning rate on the right axis, and the
// loss curves of other runs as overlays. Drag to pan, wheel to zoom;
// double-click or "Reset view" follows the data again. Log scale on demand.
#pragma once

#include <QMap>
#include <QVector>
#include <QWidget>

#include "metatypes.h"

class QCheckBox;
class QCustomPlot;
class QCPGraph;
class QDoubleSpinBox;

namespace droplora::ui {

class LossPlot : public QWidget {
    Q_OBJECT

public:
    explicit LossPlot(QWidget* parent = nullptr);

    void clear();  // the current run's curves (overlays stay)
    void setHistory(const QVector<droplora::train::StepMetrics>& steps,
                    const QVector<droplora::train::EvalMetrics>& evals);
    void addOverlay(const QString& name, const QVector<double>& steps, const QVector<double>& losses);
    void clearOverlays();

    void setLogScale(bool on);
    bool isLogScale() const;
    // EMA weight of the past, in [0, 1); 0 shows the raw loss.
    void setSmoothing(double beta);
    double smoothing() const { return m_beta; }

    int pointCount() const;    // training loss points
    int evalCount() const;     // validation points
    int overlayCount() const { return m_overlays.size(); }
    QVector<double> smoothedLosses() const;
    QCustomPlot* plot() const { return m_plot; }
    static QString helpHtml();

public slots:
    void addStep(const droplora::train::StepMetrics& metrics);
    void addEval(const droplora::train::EvalMetrics& metrics);
    void resetView();

private:
    void recomputeSmoothed();
    void appendSmoothed(double step, double loss);
    void refresh();

    QCustomPlot* m_plot;
    QCheckBox* m_logScale;
    QDoubleSpinBox* m_smoothing;
    QCPGraph* m_raw;
    QCPGraph* m_smoothed;
    QCPGraph* m_eval;
    QCPGraph* m_lr;
    QMap<QString, QCPGraph*> m_overlays;
    double m_beta = 0.9;
    double m_ema = 0;   // biased EMA; shown divided by (1 − βⁿ)
    int m_emaCount = 0;
    bool m_follow = true;  // automatic ranges until the user pans or zooms
};

}  // namespace droplora::ui
